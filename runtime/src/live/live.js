// The live page's script: refreshes the tables in place, and applies the module filter at once.
// The page works without it (links, a form, and a <noscript> refresh).
"use strict";
(() => {
  const live = document.getElementById("live");
  if (!live) {
    return;
  }
  const form = document.getElementById("filter");
  const select = form && form.querySelector("select[name=module]");
  const button = form && form.querySelector("button");
  if (button) {
    button.hidden = true;
  }
  let pending = false;
  const refresh = async () => {
    if (pending) {
      return;
    }
    pending = true;
    const params = new URLSearchParams(location.search);
    params.set("fragment", "1");
    try {
      const response = await fetch(location.pathname + "?" + params, { cache: "no-store" });
      if (response.ok) {
        live.innerHTML = await response.text();
        live.dataset.updated = String(Date.now());
      }
    } catch (_) {
      // The endpoint is away: the next refresh tries again.
    } finally {
      pending = false;
    }
  };
  if (select) {
    select.addEventListener("change", () => {
      const params = new URLSearchParams(location.search);
      if (select.value) {
        params.set("module", select.value);
      } else {
        params.delete("module");
      }
      history.replaceState(null, "", params.toString() ? "?" + params : location.pathname);
      refresh();
    });
  }
  setInterval(refresh, Number(live.dataset.refresh) || 2000);
})();
