import type { AnchorHTMLAttributes, MouseEvent } from "react";
import { href, navigate } from "../router";

/** A real link (it opens in a new tab, shows its address) that navigates in place. */
export function Link({
  to,
  ...rest
}: { to: string } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, "href">) {
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    navigate(to);
  };
  return <a href={href(to)} onClick={follow} {...rest} />;
}
