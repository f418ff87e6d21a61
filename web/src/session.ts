// The signed-in user's token, kept for this tab only (sessionStorage): a reload keeps
// you signed in, closing the tab signs you out of this browser.
import type { User } from "./api/types";

export interface Session {
  token: string;
  user: User;
}

const KEY = "bank.session";

export function loadSession(): Session | null {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    return saved && typeof saved.token === "string" && saved.user ? saved : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
}
