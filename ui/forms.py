"""Plain HTML forms that post to `/api/auth/*`, so the server can set HttpOnly cookies.

Every value is HTML-escaped; each form carries a signed, expiring form token.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import streamlit as st

from ui.context import get_services

_STYLE = """
<style>
.pa-form { display:flex; flex-direction:column; gap:.75rem; max-width:26rem; }
.pa-form label { display:flex; flex-direction:column; gap:.25rem; font-size:.9rem; }
.pa-form input { padding:.55rem .7rem; border:1px solid rgba(49,51,63,.25); border-radius:.5rem;
  font-size:1rem; }
/* #c62828 under white text: 5.6:1 (WCAG AA 4.5:1); the theme's primaryColor. */
.pa-form button { padding:.6rem 1rem; border:0; border-radius:.5rem; background:#c62828;
  color:white; font-size:1rem; cursor:pointer; }
.pa-link { display:inline-block; padding:.55rem 1rem; border-radius:.5rem; text-decoration:none;
  border:1px solid rgba(49,51,63,.25); color:inherit; }
.pa-form button.secondary { background:transparent; color:inherit;
  border:1px solid rgba(49,51,63,.25); }
</style>
"""


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"
    value: str = ""
    autocomplete: str = "off"
    required: bool = True


def post_form(
    action: str,
    purpose: str,
    fields: list[FormField],
    submit: str,
    *,
    hidden: dict[str, str] | None = None,
    secondary: bool = False,
) -> None:
    """Render a form posting to `action` with a form token for `purpose`."""
    token = get_services().form_tokens.issue(purpose)
    parts = [_STYLE, f'<form class="pa-form" method="post" action="{escape(action)}">']
    for name, value in {"form_token": token, **(hidden or {})}.items():
        parts.append(f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">')
    for field in fields:
        required = " required" if field.required else ""
        parts.append(
            f'<label>{escape(field.label)}<input type="{escape(field.kind)}" '
            f'name="{escape(field.name)}" value="{escape(field.value)}" '
            f'autocomplete="{escape(field.autocomplete)}"{required}></label>'
        )
    css_class = ' class="secondary"' if secondary else ""
    parts.append(f'<button type="submit"{css_class}>{escape(submit)}</button></form>')
    st.html("".join(parts))


def show_flash() -> dict[str, str]:
    """Show the one-time message a route left for this page; return its refill fields."""
    flash = get_services().flash.take(st.query_params.get("flash"))
    if flash is None:
        return {}
    if flash.level == "success":
        st.success(flash.message, icon=":material/check_circle:")
    elif flash.level == "info":
        st.info(flash.message, icon=":material/info:")
    else:
        st.error(flash.message, icon=":material/error:")
    return flash.fields


def same_tab_link(href: str, label: str) -> None:
    """A button-like link that stays in this tab (`st.link_button` opens a new one)."""
    st.html(f'{_STYLE}<a class="pa-link" href="{escape(href)}" target="_self">{escape(label)}</a>')
