// A strict RFC 4180 reader for tests: what a spreadsheet or CSV library would accept, nothing looser.

/** RFC 4180: quoted fields, doubled quotes, CRLF records, line breaks inside quotes; a leading UTF-8 BOM is skipped, as spreadsheets do. */
export function parseCsv(text: string): string[][] {
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; ) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), (i += 2);
      else if (ch === '"') (quoted = false), i++;
      else (cell += ch), i++;
    } else if (ch === '"') {
      if (cell !== "") throw new Error(`quote inside an unquoted field at ${i}`);
      (quoted = true), i++;
    } else if (ch === ",") row.push(cell), (cell = ""), i++;
    else if (ch === "\r" && text[i + 1] === "\n") row.push(cell), rows.push(row), (row = []), (cell = ""), (i += 2);
    else if (ch === "\n" || ch === "\r") throw new Error(`bare line break at ${i}`);
    else (cell += ch), i++;
  }
  if (quoted) throw new Error("unterminated quote");
  if (cell !== "" || row.length) throw new Error("last record does not end with CRLF");
  return rows;
}
