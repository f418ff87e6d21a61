// The signed-in user's notifications, polled so new ones show without a reload. Polling
// (not server-sent events) because it passes every proxy and ingress unchanged, and a
// few seconds' delay is fine for news of a movement that already happened.
import { useCallback, useEffect, useRef, useState } from "react";
import { notifications as fetchNotifications } from "./api/bank";
import type { Notification } from "./api/types";

export const POLL_INTERVAL_MS = 3000;

export interface Inbox {
  items: Notification[];
  unread: number;
  /** Grows whenever a notification arrives: screens showing balances reload on it. */
  arrivals: number;
  /** The newest notification that arrived while the app was open (announced once). */
  latest: Notification | null;
  refresh: () => void;
}

export function useInbox(token: string | null, interval = POLL_INTERVAL_MS): Inbox {
  const [items, setItems] = useState<Notification[]>([]);
  const [unread, setUnread] = useState(0);
  const [arrivals, setArrivals] = useState(0);
  const [latest, setLatest] = useState<Notification | null>(null);
  const newest = useRef<number | null>(null);
  const [round, setRound] = useState(0);

  useEffect(() => {
    newest.current = null;
    setItems([]);
    setUnread(0);
    setLatest(null);
  }, [token]);

  useEffect(() => {
    if (!token) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const page = await fetchNotifications(token);
        if (stopped) return;
        setItems(page.notifications);
        setUnread(page.unread);
        const top = page.notifications[0]?.id ?? null;
        if (top !== null && newest.current !== null && top !== newest.current) {
          setArrivals((n) => n + 1);
          setLatest(page.notifications[0]);
        }
        newest.current = top ?? newest.current ?? 0;
      } catch {
        // Offline for a moment, or signed out (handled by the client): try again later.
      }
      if (!stopped) timer = setTimeout(poll, document.hidden ? interval * 5 : interval);
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [token, interval, round]);

  const refresh = useCallback(() => setRound((n) => n + 1), []);
  return { items, unread, arrivals, latest, refresh };
}
