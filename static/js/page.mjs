// Small helpers for the pages the bundles enhance.

// Lets the browser paint (a status message) before the page blocks for a while (argon2id).
export function painted() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

// The form is sent by `send` instead of the browser, one sending at a time, its buttons disabled
// meanwhile: a second click while the first is deriving, encrypting or uploading would do it all
// again (upload everything twice, and store a second report behind the reporter's back).
export function guardSubmit(form, send) {
  const buttons = form.querySelectorAll("button[type=submit]");
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    for (const button of buttons) button.disabled = true;
    try {
      await send();
    } finally {
      busy = false;
      for (const button of buttons) button.disabled = false;
    }
  });
}
