import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { signOut } from "./api/bank";
import { whenSignedOut } from "./api/client";
import { Link } from "./components/Link";
import { useInbox } from "./notifications";
import { currentScreen, navigate, useScreen } from "./router";
import { AccountDetail } from "./screens/AccountDetail";
import { Accounts } from "./screens/Accounts";
import { Notifications } from "./screens/Notifications";
import { SignIn } from "./screens/SignIn";
import { SignUp } from "./screens/SignUp";
import { Transfer } from "./screens/Transfer";
import { loadSession, saveSession, type Session } from "./session";

const PUBLIC_SCREENS = new Set(["sign-in", "sign-up"]);

export function App() {
  const screen = useScreen();
  const [session, setSession] = useState<Session | null>(loadSession);
  const [notice, setNotice] = useState<string | null>(null);
  const inbox = useInbox(session?.token ?? null);
  // Where a session that ended by itself was: signing in again goes back there.
  const returnTo = useRef<string | null>(null);
  const token = useRef(session?.token);
  token.current = session?.token;

  const end = useCallback((message: string | null) => {
    saveSession(null);
    setSession(null);
    setNotice(message);
    navigate("sign-in", { replace: true });
  }, []);

  useEffect(() => {
    whenSignedOut((refused) => {
      // A late answer to a request made with an earlier session's token ends nothing.
      if (refused !== token.current) return;
      returnTo.current = currentScreen();
      end("Your session has ended. Sign in again to continue where you were.");
    });
    return () => whenSignedOut(null);
  }, [end]);

  // Signed out, every screen but the public ones asks to sign in; signed in, those two
  // lead to the accounts.
  useEffect(() => {
    if (!session && !PUBLIC_SCREENS.has(screen)) navigate("sign-in", { replace: true });
    if (session && (PUBLIC_SCREENS.has(screen) || screen === "")) {
      navigate("accounts", { replace: true });
    }
  }, [session, screen]);

  const signedIn = (next: Session) => {
    saveSession(next);
    setSession(next);
    setNotice(null);
    navigate(returnTo.current || "accounts");
    returnTo.current = null;
  };

  const created = (message: string) => {
    setNotice(message);
    navigate("sign-in");
  };

  const leave = async () => {
    returnTo.current = null;
    if (session) {
      try {
        await signOut(session.token);
      } catch {
        // Signed out here either way; the token expires on its own.
      }
    }
    end("You have signed out.");
  };

  if (!session) {
    return (
      <Frame>
        {screen === "sign-up" ? (
          <SignUp onSignedIn={signedIn} onCreated={created} />
        ) : (
          <SignIn notice={notice} onSignedIn={signedIn} />
        )}
      </Frame>
    );
  }

  const accountId = /^accounts\/([^/]+)$/.exec(screen)?.[1];
  let body;
  if (accountId) {
    body = <AccountDetail session={session} id={accountId} changes={inbox.arrivals} key={accountId} />;
  } else if (screen === "transfer") {
    body = <Transfer session={session} changes={inbox.arrivals} />;
  } else if (screen === "notifications") {
    body = <Notifications session={session} inbox={inbox} />;
  } else {
    body = <Accounts session={session} changes={inbox.arrivals} />;
  }

  return (
    <Frame
      nav={
        <>
          <nav aria-label="Main">
            <ul>
              <li>
                <Link to="accounts" aria-current={screen.startsWith("accounts") ? "page" : undefined}>
                  Accounts
                </Link>
              </li>
              <li>
                <Link to="transfer" aria-current={screen === "transfer" ? "page" : undefined}>
                  Transfer
                </Link>
              </li>
              <li>
                <Link
                  to="notifications"
                  aria-current={screen === "notifications" ? "page" : undefined}
                >
                  Notifications
                  {inbox.unread > 0 && (
                    <span className="badge" data-testid="unread">
                      {inbox.unread}
                      <span className="visually-hidden"> unread</span>
                    </span>
                  )}
                </Link>
              </li>
            </ul>
          </nav>
          <div className="who">
            <span>{session.user.full_name ?? session.user.username}</span>
            <button type="button" className="secondary" onClick={leave}>
              Sign out
            </button>
          </div>
        </>
      }
    >
      {body}
      <p className="visually-hidden" aria-live="polite">
        {inbox.latest ? `New notification: ${inbox.latest.message}` : ""}
      </p>
    </Frame>
  );
}

function Frame({ nav, children }: { nav?: ReactNode; children: ReactNode }) {
  return (
    <>
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Bank</span>
        {nav}
      </header>
      {children}
    </>
  );
}
