// Sign-in: email and password; the server sets an HttpOnly cookie and answers with who we are.
import { useState } from "preact/hooks";
import { ApiError, post } from "../api";
import { html } from "../html";
import type { Me } from "../types";

export function SignIn({ onSignedIn, expired }: { onSignedIn: (m: Me) => void; expired?: boolean }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  document.title = "Sign in · InterviewRelay";

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await post<Me>("/v1/auth/login", { email: email.trim(), password }));
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401) setError("That email and password do not match an account.");
      else if (err instanceof ApiError && err.status === 429) setError("Too many attempts. Wait a minute and try again.");
      else if (err instanceof ApiError && err.status === 400) setError("Enter a valid email address and your password.");
      else setError(err instanceof Error ? err.message : String(err));
    }
  };

  return html`<div class="signin-wrap">
    <main class="signin">
      <div class="logo big"><span class="logo-mark" aria-hidden="true">IR</span><span>InterviewRelay</span></div>
      <h1>Sign in to your dashboard</h1>
      ${expired ? html`<p class="notice-box" role="status">Your sign-in has ended. Please sign in again.</p>` : null}
      <form onSubmit=${submit} class="stack" novalidate>
        <label class="field"><span>Email</span>
          <input type="email" name="email" autocomplete="username" required autofocus value=${email} onInput=${(e: Event) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field"><span>Password</span>
          <input type="password" name="password" autocomplete="current-password" required value=${password} onInput=${(e: Event) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        ${error ? html`<p class="form-error" role="alert">${error}</p>` : null}
        <button class="btn btn-primary btn-block" type="submit" disabled=${busy || !email || !password}>${busy ? "Signing in…" : "Sign in"}</button>
      </form>
      <p class="muted small">Participants never need an account: they join from their invite link.</p>
    </main>
  </div>`;
}
