import { useEffect, useRef, type ReactNode } from "react";

/** A screen's title. It takes focus when the screen opens, so a screen reader announces
 * the new screen and Tab continues from the top of it. */
export function Heading({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}
