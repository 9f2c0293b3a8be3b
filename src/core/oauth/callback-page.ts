/** The small page a browser shows after a browser login's redirect: what happened, where to go back. */
export interface CallbackPage {
  status: number;
  title: string;
  /** Paragraphs of plain text (escaped when rendered). */
  lines: string[];
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export function renderCallbackPage(page: CallbackPage): string {
  const ok = page.status < 300;
  const paragraphs = page.lines.map((line) => `<p>${escapeHtml(line)}</p>`).join("");
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(page.title)}</title>` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><style>` +
    "body{font-family:system-ui,sans-serif;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center;background:#f6f7f9;color:#1d2330}" +
    "main{max-width:34rem;padding:2rem 2.5rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.12)}" +
    `h1{font-size:1.35rem;margin:0 0 1rem;color:${ok ? "#17663a" : "#a32020"}}p{line-height:1.5;margin:.5rem 0}` +
    `</style></head><body><main data-outcome="${ok ? "success" : "failure"}"><h1>${escapeHtml(page.title)}</h1>${paragraphs}</main></body></html>`
  );
}
