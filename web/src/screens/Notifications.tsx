import { markAllRead, markRead } from "../api/bank";
import { Heading } from "../components/Heading";
import type { Inbox } from "../notifications";
import type { Session } from "../session";

export function Notifications({ session, inbox }: { session: Session; inbox: Inbox }) {
  const read = async (id?: number) => {
    try {
      await (id === undefined ? markAllRead(session.token) : markRead(session.token, id));
    } finally {
      inbox.refresh();
    }
  };
  return (
    <main id="content" className="narrow">
      <Heading>Notifications</Heading>
      <p role="status">
        {inbox.unread === 0 ? "Nothing unread." : `${inbox.unread} unread.`}
      </p>
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
