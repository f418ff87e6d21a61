import type { Loaded } from "../api/useLoad";

/** Why a screen's data could not be loaded, and a way to try again. */
export function LoadProblem({ loaded }: { loaded: Loaded<unknown> }) {
  if (!loaded.error) return null;
  return (
    <div className="load-problem" role="alert">
      <p>{loaded.error}</p>
      <button type="button" className="secondary" onClick={loaded.reload}>
        Try again
      </button>
    </div>
  );
}
