// Stored JSON is parsed and checked, never trusted by a cast: a bad row is an error, not a surprise.
import type { z } from "zod";

export const parseJson = <S extends z.ZodType>(schema: S, text: string): z.output<S> => schema.parse(JSON.parse(text));
