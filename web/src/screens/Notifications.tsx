import { useRef, useState } from "react";
import { markAllRead, markRead } from "../api/bank";
import { ApiError } from "../api/client";
import { Heading } from "../components/Heading";
import type { Inbox } from "../notifications";
import type { Session } from "../session";

export function Notifications({ session, inbox }: { session: Session; inbox: Inbox }) {
  const [error, setError] = useState<string | null>(null);
  const summary = useRef<HTMLParagraphElement>(null);
  const read = async (id?: number) => {
    setError(null);
    try {
      await (id === undefined ? markAllRead(session.token) : markRead(session.token, id));
    } catch (thrown) {
      setError(thrown instanceof ApiError ? thrown.message : "Could not mark it as read.");
    }
    inbox.refresh();
    // The button just used is gone: keep the keyboard's place at the list's summary.
    summary.current?.focus();
  };
  return (
    <main id="content" className="narrow">
      <Heading>Notifications</Heading>
      {/* Not a live region: the app announces arrivals once, for every screen. */}
      <p ref={summary} tabIndex={-1}>
        {inbox.unread === 0 ? "Nothing unread." : `${inbox.unread} unread.`}
      </p>
      {error && <p role="alert">{error}</p>}
      {inbox.unread > 0 && (
        <button type="button" className="secondary" onClick={() => read()}>
          Mark all as read
        </button>
      )}
      {inbox.items.length === 0 ? (
        <p>No notifications yet. Money moving in or out of your accounts shows here.</p>
      ) : (
        <ul className="notifications">
          {inbox.items.map((item) => (
            <li key={item.id} className={item.read_at ? "read" : "unread"}>
              <p>
                {!item.read_at && <span className="visually-hidden">Unread: </span>}
                {item.message}
              </p>
              <p className="meta">
                <time dateTime={item.created_at}>{new Date(item.created_at).toLocaleString()}</time>
                {!item.read_at && (
                  <button type="button" className="link" onClick={() => read(item.id)}>
                    Mark as read
                  </button>
                )}
              </p>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
