// The demo page: each home's own hub dashboard in a frame, grown to the height of its page.
"use strict";

function fit(frame) {
  const doc = frame.contentDocument;
  const main = doc && doc.querySelector("main");
  if (!main) return;
  const margin = parseFloat(frame.contentWindow.getComputedStyle(main).marginBottom) || 0;
  frame.style.height = `${Math.ceil(main.getBoundingClientRect().bottom + margin + 2)}px`;
}

for (const frame of document.querySelectorAll("iframe.hub")) {
  frame.addEventListener("load", () => {
    fit(frame);
    const main = frame.contentDocument && frame.contentDocument.querySelector("main");
    if (main) new frame.contentWindow.ResizeObserver(() => fit(frame)).observe(main);
  });
}
