// The app's screens are paths under /app/ (the api answers each with the entry page), so
// links, reloads and the back button work as on any site.
import { useEffect, useState } from "react";

export const BASE = "/app/";

/** The path after /app/, without a trailing slash: "", "accounts", "accounts/<id>". */
export function currentScreen(): string {
  const path = window.location.pathname;
  const inside = path.startsWith(BASE) ? path.slice(BASE.length) : "";
  return inside.replace(/\/+$/, "");
}

export function href(screen: string): string {
  return BASE + screen;
}

export function navigate(screen: string, options: { replace?: boolean } = {}): void {
  const url = href(screen);
  if (url !== window.location.pathname) {
    if (options.replace) window.history.replaceState(null, "", url);
    else window.history.pushState(null, "", url);
  }
  window.dispatchEvent(new Event("app:navigate"));
}

export function useScreen(): string {
  const [screen, setScreen] = useState(currentScreen);
  useEffect(() => {
    const update = () => setScreen(currentScreen());
    window.addEventListener("popstate", update);
    window.addEventListener("app:navigate", update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener("app:navigate", update);
    };
  }, []);
  return screen;
}
