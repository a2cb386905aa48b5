// The dashboard shell: sign-in gate, navigation that follows the role table, and the routes.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, me as fetchMe, onAccessChanged, onUnauthorized, post } from "./api";
import { html } from "./html";
import { can, ROLE_LABEL } from "./roles";
import { match, navigate, useLocation, type Loc } from "./router";
import { MeContext } from "./session-context";
import type { Me } from "./types";
import { ErrorState, Loading, toast, Toasts } from "./ui";
import { NotificationBell } from "./notifications";
import { SignIn } from "./screens/signin";
import { CampaignList } from "./screens/campaigns";
import { CampaignEditor } from "./screens/campaign-editor";
import { Invites } from "./screens/invites";
import { SessionList } from "./screens/sessions";
import { SessionDetail } from "./screens/session";
import { LiveView } from "./screens/live";
import { Members } from "./screens/members";
import { ApiKeys } from "./screens/apikeys";
import { AuditLog } from "./screens/audit";
import { CampaignAnalyticsScreen } from "./screens/campaign-analytics";
import { Reports } from "./screens/reports";
import { PrivacySettings } from "./screens/privacy";
import { OrgSettings } from "./screens/org";
import { Webhooks } from "./screens/webhooks";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Screen = (props: any) => unknown;

interface RouteDef {
  pattern: string;
  screen: Screen;
  title: string;
  allowed?: (m: Me) => boolean;
}

const role = (m: Me) => m.principal.role;
const ROUTES: RouteDef[] = [
  { pattern: "/campaigns", screen: CampaignList, title: "Campaigns" },
  { pattern: "/campaigns/new", screen: CampaignEditor, title: "New campaign", allowed: (m) => can(role(m), "editCampaigns") },
  { pattern: "/campaigns/:id/sessions", screen: SessionList, title: "Sessions" },
  { pattern: "/campaigns/:id/settings", screen: CampaignEditor, title: "Campaign settings" },
  { pattern: "/campaigns/:id/invites", screen: Invites, title: "Invites", allowed: (m) => can(role(m), "editCampaigns") },
  { pattern: "/campaigns/:id/analytics", screen: CampaignAnalyticsScreen, title: "Analytics" },
  { pattern: "/reports", screen: Reports, title: "Reports" },
  { pattern: "/sessions/:id", screen: SessionDetail, title: "Session" },
  { pattern: "/live", screen: LiveView, title: "Live", allowed: (m) => can(role(m), "watchLive") },
  { pattern: "/settings/members", screen: Members, title: "Members", allowed: (m) => can(role(m), "manageOrg") },
  { pattern: "/settings/api-keys", screen: ApiKeys, title: "API keys", allowed: (m) => can(role(m), "manageOrg") },
  { pattern: "/settings/org", screen: OrgSettings, title: "Organisation", allowed: (m) => can(role(m), "manageOrg") },
  { pattern: "/settings/webhooks", screen: Webhooks, title: "Webhooks", allowed: (m) => can(role(m), "manageOrg") },
  { pattern: "/settings/audit", screen: AuditLog, title: "Audit log", allowed: (m) => can(role(m), "readAudit") },
  // Retention for everyone who sees Settings; the deletion flow inside is for owners only.
  { pattern: "/settings/privacy", screen: PrivacySettings, title: "Privacy", allowed: (m) => can(role(m), "readAudit") },
];

const REDIRECTS: [RegExp, (m: Me, path: string) => string][] = [
  [/^\/$/, () => "/campaigns"],
  [/^\/campaigns\/(cmp_[^/]+)$/, (_m, p) => `${p}/sessions`],
  [/^\/settings$/, (m) => (can(role(m), "manageOrg") ? "/settings/members" : "/settings/audit")],
];

export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [state, setState] = useState<"loading" | "signed-out" | "ready" | "error">("loading");
  const [error, setError] = useState<unknown>(null);
  const [expired, setExpired] = useState(false);
  const loc = useLocation();

  const load = () => {
    setState("loading");
    fetchMe().then(
      (m) => (setMe(m), setState("ready")),
      (err) => {
        if (err instanceof ApiError && err.status === 401) setState("signed-out");
        else (setError(err), setState("error"));
      },
    );
  };
  useEffect(load, []);
  useEffect(
    () =>
      onUnauthorized(() => {
        setMe(null);
        setExpired(true);
        setState("signed-out");
      }),
    [],
  );

  // A live socket found that our access changed but the sign-in still holds: adopt the new role
  // (every screen follows it; a page the role may not open says so).
  useEffect(
    () =>
      onAccessChanged((m) =>
        setMe((cur) => {
          if (cur && JSON.stringify(cur) === JSON.stringify(m)) return cur;
          if (cur && cur.principal.role !== m.principal.role) toast(`Your access changed: you are now ${ROLE_LABEL[m.principal.role].toLowerCase()}.`, "error");
          return m;
        }),
      ),
    [],
  );

  if (state === "loading") return html`<div class="boot"><${Loading} label="Opening your dashboard…" /></div>`;
  if (state === "error") return html`<div class="boot"><${ErrorState} error=${error} retry=${load} /></div>`;
  if (state === "signed-out" || !me) {
    return html`<${SignIn}
      expired=${expired}
      onSignedIn=${(m: Me) => {
        setMe(m);
        setExpired(false);
        setState("ready");
        const next = new URLSearchParams(location.search).get("next");
        if (loc.path === "/signin") navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/campaigns", { replace: true });
      }}
    /><${Toasts} />`;
  }
  return html`<${MeContext.Provider} value=${me}>
    <${Shell} me=${me} loc=${loc} onSignOut=${async () => {
      await post("/v1/auth/logout").catch(() => undefined);
      setMe(null);
      setExpired(false);
      setState("signed-out");
      navigate("/signin", { replace: true });
    }}>
      <${Routes} me=${me} loc=${loc} />
    <//>
    <${Toasts} />
  <//>`;
}

function Routes({ me, loc }: { me: Me; loc: Loc }) {
  for (const [re, to] of REDIRECTS) {
    if (re.test(loc.path)) {
      const target = to(me, loc.path);
      queueMicrotask(() => navigate(target + (loc.path === "/" ? "" : loc.search), { replace: true }));
      return null;
    }
  }
  if (loc.path === "/signin") {
    queueMicrotask(() => navigate(loc.query.get("next") ?? "/campaigns", { replace: true }));
    return null;
  }
  for (const r of ROUTES) {
    const params = match(r.pattern, loc.path);
    if (!params) continue;
    document.title = `${r.title} · InterviewRelay`;
    if (r.allowed && !r.allowed(me)) {
      return html`<div class="page"><div class="state error" data-testid="forbidden"><p class="state-title">Not available for your role</p><p class="muted">The ${ROLE_LABEL[me.principal.role].toLowerCase()} role cannot open ${r.title.toLowerCase()}.</p><a class="btn" href="/campaigns">Back to campaigns</a></div></div>`;
    }
    const Screen = r.screen as (p: { params: Record<string, string>; loc: Loc }) => ComponentChildren;
    // Keyed by the pattern and params so a new id mounts a fresh screen (no stale state).
    return html`<${Screen} key=${r.pattern + JSON.stringify(params)} params=${params} loc=${loc} />`;
  }
  document.title = "Not found · InterviewRelay";
  return html`<div class="page"><div class="state empty"><p class="state-title">Page not found</p><p class="muted">Nothing lives at ${loc.path}.</p><a class="btn" href="/campaigns">Go to campaigns</a></div></div>`;
}

function Shell({ me, loc, onSignOut, children }: { me: Me; loc: Loc; onSignOut: () => void; children: ComponentChildren }) {
  const r = me.principal.role;
  const [menu, setMenu] = useState(false);
  useEffect(() => setMenu(false), [loc.path]);
  const section = loc.path.startsWith("/live") ? "live" : loc.path.startsWith("/settings") ? "settings" : loc.path.startsWith("/reports") ? "reports" : "campaigns";
  const item = (key: string, href: string, label: string) =>
    html`<a href=${href} class=${section === key ? "nav-item active" : "nav-item"} aria-current=${section === key ? "page" : undefined}>${label}</a>`;
  const name = me.member?.name ?? me.member?.email ?? "API key";
  return html`<div class="layout">
    <a class="skip" href="#main">Skip to content</a>
    <aside class=${menu ? "side open" : "side"}>
      <div class="side-top">
        <a class="logo" href="/campaigns" aria-label="InterviewRelay home"><span class="logo-mark" aria-hidden="true">IR</span><span>InterviewRelay</span></a>
        <div class="side-tools">
          <${NotificationBell} key=${me.principal.id} memberId=${me.principal.id} />
          <button class="icon-btn menu-btn" aria-label="Menu" aria-expanded=${menu} onClick=${() => setMenu(!menu)}>☰</button>
        </div>
      </div>
      <nav class="nav" aria-label="Main">
        ${item("campaigns", "/campaigns", "Campaigns")}
        ${can(r, "watchLive") ? item("live", "/live", "Live") : null}
        ${item("reports", "/reports", "Reports")}
        ${can(r, "readAudit") ? item("settings", "/settings", "Settings") : null}
        ${section === "settings" && can(r, "readAudit")
          ? html`<div class="subnav">
              ${can(r, "manageOrg") ? html`<a href="/settings/members" class=${loc.path === "/settings/members" ? "active" : ""}>Members</a>` : null}
              ${can(r, "manageOrg") ? html`<a href="/settings/api-keys" class=${loc.path === "/settings/api-keys" ? "active" : ""}>API keys</a>` : null}
              ${can(r, "manageOrg") ? html`<a href="/settings/webhooks" class=${loc.path === "/settings/webhooks" ? "active" : ""}>Webhooks</a>` : null}
              ${can(r, "manageOrg") ? html`<a href="/settings/org" class=${loc.path === "/settings/org" ? "active" : ""}>Organisation</a>` : null}
              <a href="/settings/audit" class=${loc.path === "/settings/audit" ? "active" : ""}>Audit log</a>
              <a href="/settings/privacy" class=${loc.path === "/settings/privacy" ? "active" : ""}>Privacy</a>
            </div>`
          : null}
      </nav>
      <div class="side-foot">
        <div class="who">
          <span class="avatar" aria-hidden="true">${name.slice(0, 1).toUpperCase()}</span>
          <span class="who-text"><span class="who-name">${name}</span><span class="who-meta">${me.org.name} · <span data-testid="role">${ROLE_LABEL[r]}</span></span></span>
        </div>
        <button class="btn btn-small" onClick=${onSignOut}>Sign out</button>
      </div>
    </aside>
    <main id="main" class="main" tabindex="-1">${children}</main>
  </div>`;
}
