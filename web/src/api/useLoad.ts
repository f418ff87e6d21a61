import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "./client";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

/** Data for a screen: loaded on open and whenever `key` changes, reloadable. */
export function useLoad<T>(load: () => Promise<T>, key: unknown): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const latest = useRef(load);
  latest.current = load;

  useEffect(() => {
    let current = true;
    latest.current().then(
      (value) => {
        if (current) {
          setData(value);
          setError(null);
        }
      },
      (thrown: unknown) => {
        if (current) {
          setError(thrown instanceof ApiError ? thrown.message : "Could not load this page.");
        }
      },
    );
    return () => {
      current = false;
    };
  }, [key, round]);

  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { data, error, reload };
}
