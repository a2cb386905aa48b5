// Who is signed in, for every screen: the role decides which controls exist at all.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Me, Role } from "./types";

export const MeContext = createContext<Me | null>(null);

export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error("useMe outside a signed-in screen");
  return me;
}

export const useRole = (): Role => useMe().principal.role;
