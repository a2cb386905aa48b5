// Completes an interview from the terminal over the participant socket, as a browser would:
// join with the invite token, consent, then answer every question (typing the answers for you).
// Usage: npm run demo:interview -- <invite token> [base url]
const [token, base = "http://127.0.0.1:8787"] = process.argv.slice(2);
if (!token) {
  console.error("usage: npm run demo:interview -- <invite token> [base url]");
  process.exit(2);
}

const ANSWERS = [
  "I run a small design studio; we use it every Monday to plan the week's client work.",
  "Last month it saved us when a client moved a deadline and we could reshuffle everything in minutes.",
  "Exports were slow.",
  "It got slow with big projects, so we split them up, which was annoying but worked.",
  "Better search across projects, because we lose time looking for old files.",
  "Keep going, the team has been great.",
];

const join = await fetch(`${base}/v1/join`, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ token, device: { browser: "terminal", os: process.platform, deviceType: "desktop" } }),
});
const session = await join.json();
if (join.status !== 201) {
  console.error(`join failed: ${join.status} ${JSON.stringify(session)}`);
  process.exit(1);
}
console.log(`session ${session.sessionId} (${session.resumed ? "resumed" : "new"}), ${session.totalQuestions} questions`);

const ws = new WebSocket(`${base.replace(/^http/, "ws")}/v1/sessions/${session.sessionId}/connect?token=${session.participantToken}`);
let answered = 0;
const timeout = setTimeout(() => {
  console.error("no progress for 30 s; giving up");
  process.exit(1);
}, 30_000);

ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "hello" })));
ws.addEventListener("message", (e) => {
  const f = JSON.parse(String(e.data));
  if (f.type === "state" && f.status === "created") {
    if (session.consentRequired) ws.send(JSON.stringify({ type: "consent", granted: true }));
    ws.send(JSON.stringify({ type: "start" }));
  } else if (f.type === "question") {
    console.log(`\nAI: ${f.text}`);
    const text = ANSWERS[answered % ANSWERS.length];
    answered += 1;
    console.log(`You: ${text}`);
    ws.send(JSON.stringify({ type: "answer", id: `cli-${f.seq}`, text }));
  } else if (f.type === "ended") {
    console.log(`\nInterview ${f.status} (${f.reason}).`);
    clearTimeout(timeout);
    ws.close();
  } else if (f.type === "error") {
    console.error(`error frame: ${f.code} ${f.message}`);
  }
});
ws.addEventListener("close", () => process.exit(0));
