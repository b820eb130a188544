"""Accessibility the theme cannot give: readable secondary text, skip links, focus after a
rerun, and plain text that Markdown would otherwise turn into links.

Tab order: Streamlit's "Skip to main content" comes first, then our skip links (on Chat),
so the question box and the base picker are two or three key presses from a page load.

Contrast (WCAG 2.2 AA, 4.5:1 for normal text): Streamlit draws `st.caption` as body text at
60% opacity (about 3.9:1 on white); `page_style` draws captions opaque in #5c5e69 (6.4:1 on
white, 5.8:1 on the sidebar's #f0f2f6). The red of buttons is the theme's `primaryColor`
(`.streamlit/config.toml`, #c62828: 5.6:1 under white text).
"""

from __future__ import annotations

import json
import re
from html import escape

import streamlit as st

# Opaque caption grey: 6.44:1 on #ffffff, 5.75:1 on the sidebar's #f0f2f6.
CAPTION_COLOR = "#5c5e69"
# Where a rerun should put the keyboard focus (a CSS selector), set by whoever caused it.
FOCUS_KEY = "a11y-focus-after-rerun"

_STYLE = f"""
<style>
[data-testid="stCaptionContainer"] {{ opacity: 1; color: {CAPTION_COLOR}; }}
.pa-signed-in, .pa-caption {{ margin: 0; font-size: .875rem; color: {CAPTION_COLOR}; }}
.pa-skip {{ position: absolute; left: .5rem; top: -3rem; z-index: 1000100; padding: .5rem .9rem;
  background: #ffffff; color: #1a1c24; border: 2px solid #1a1c24; border-radius: .4rem;
  font-weight: 600; text-decoration: none; }}
.pa-skip:focus {{ top: .5rem; }}
</style>
"""

# Skip links to the question box and the base picker, right after Streamlit's own "Skip to
# main content" (which axe accepts outside a landmark only as the page's first link), while
# the page has them. Installed once per tab; an observer keeps them there across reruns and
# page switches, since React may redraw the parent.
_SKIP_SCRIPT = """
<script>
(() => {
  if (window.paSkipLinks) return;
  const links = %s;
  const sync = () => {
    const streamlit = document.querySelector('[data-testid="stSkipToContent"]');
    const wanted = links.filter(([, selector]) => document.querySelector(selector));
    let nav = document.getElementById("pa-skip-links");
    if (!streamlit || !wanted.length) {
      if (nav) nav.remove();
      return;
    }
    const labels = wanted.map(([label]) => label).join("|");
    if (nav && nav.previousElementSibling === streamlit && nav.dataset.labels === labels) return;
    if (!nav) {
      nav = document.createElement("nav");
      nav.id = "pa-skip-links";
      nav.setAttribute("aria-label", "Skip links");
    }
    nav.dataset.labels = labels;
    nav.replaceChildren(...wanted.map(([label, selector]) => {
      const link = document.createElement("a");
      link.className = "pa-skip";
      link.href = "#";
      link.textContent = label;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        const target = document.querySelector(selector);
        if (!target) return;
        target.focus();
        target.scrollIntoView({block: "center"});
      });
      return link;
    }));
    streamlit.after(nav);
  };
  window.paSkipLinks = new MutationObserver(sync);
  window.paSkipLinks.observe(document.body, {childList: true, subtree: true});
  sync();
})();
</script>
"""

# Waits (up to 10 s) for the element a rerun draws, then focuses it: the last result line
# of a change card (an alert or caption inside it), else the card itself.
_FOCUS_SCRIPT = """
<script>
(() => {
  const selector = %s;
  const started = Date.now();
  const attempt = () => {
    const box = document.querySelector(selector);
    if (!box) {
      if (Date.now() - started < 10000) setTimeout(attempt, 50);
      return;
    }
    const results = box.querySelectorAll(
      '[data-testid="stAlertContainer"], [data-testid="stCaptionContainer"]');
    const target = box.matches("textarea, input") ? box
      : results.length ? results[results.length - 1] : box;
    if (!target.matches("textarea, input, button, a")) target.setAttribute("tabindex", "-1");
    target.focus();
  };
  attempt();
})();
</script>
"""

CHAT_BOX = '[data-testid="stChatInputTextArea"]'
BASE_PICKER = 'main [data-testid="stSelectbox"] input'


def page_style() -> None:
    """The app's CSS (a style-only `st.html` takes no room on the page)."""
    st.html(_STYLE)


def skip_links() -> None:
    """Skip links to the question box and the base picker, the first Tab stops after
    Streamlit's own "Skip to main content", on any page that has them (Chat)."""
    links = [("Skip to the question box", CHAT_BOX), ("Skip to the base picker", BASE_PICKER)]
    st.html(_SKIP_SCRIPT % json.dumps(links), unsafe_allow_javascript=True)


def signed_in_line(email: str) -> None:
    """ "Signed in as …" as plain text: no `mailto:` link (and no extra Tab stop)."""
    st.html(f'<p class="pa-signed-in">Signed in as {escape(email)}</p>')


def plain_text(
    text: str, *, strong: str = "", second_line: str = "", caption: bool = False
) -> None:
    """Text that may hold an email, drawn as HTML: Markdown (GFM) turns every email it
    sees into a `mailto:` link (an extra Tab stop, and link colours), escaped or not.
    `strong` comes first, in bold; `caption` draws it as a caption."""
    css = ' class="pa-caption"' if caption else ""
    bold = f"<strong>{escape(strong)}</strong>" if strong else ""
    below = f"<br>{escape(second_line)}" if second_line else ""
    st.html(f"<p{css}>{bold}{escape(text)}{below}</p>")


def focus_after_rerun(selector: str) -> None:
    """Ask the next run of this page to focus the element `selector` matches."""
    st.session_state[FOCUS_KEY] = selector


def restore_focus(selector: str) -> None:
    """Focus `selector` now, if a rerun was asked to (see `focus_after_rerun`)."""
    if st.session_state.get(FOCUS_KEY) != selector:
        return
    del st.session_state[FOCUS_KEY]
    with st.container(key="pa-focus-script", height=1, border=False):
        st.html(_FOCUS_SCRIPT % json.dumps(selector), unsafe_allow_javascript=True)


def card_selector(key: str) -> str:
    """The CSS selector of the change card keyed `key` (its container's class, which
    Streamlit spells with every character outside [a-zA-Z0-9_-] as "-")."""
    return "." + re.sub(r"[^a-zA-Z0-9_-]", "-", f"st-key-card-{key}".strip())
