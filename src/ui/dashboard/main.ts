// The researcher dashboard: a single-page app over the /v1 API (served as static assets with an
// SPA fallback, so every dashboard path loads this bundle).
import { render } from "preact";
import { App } from "./app";
import { html } from "./html";
import { interceptLinks } from "./router";

interceptLinks();
render(html`<${App} />`, document.getElementById("app")!);
