"""A widget's static view: what a saved notebook shows in place of the live widget, to a reader who opens
it untrusted or without a kernel (the text/html beside the widget view in the output, see
``Studio._repr_mimebundle_``).

    widget_html(panel)        # its HTML and labels, fields as "name: value", the selected tab; hidden parts left out
    readable_untrusted(html)  # inline SVG as <img> data URIs, hsl()/rgba() colours as hex

JupyterLab's sanitiser drops inline SVG, ``<style>`` and the colours it cannot parse from an untrusted
output; an ``<img>`` with an SVG data URI and plain hex colours survive it.
"""
from __future__ import annotations

import base64
import colorsys
import html
import re

import ipywidgets as W

_E = html.escape
SVG = re.compile(r"<svg\b.*?</svg>", re.S)
COLOR = re.compile(r"(hsla?|rgba?)\(([^()]*)\)")
_STYLE = re.compile(r"<style\b.*?</style>", re.S)
_HEADING = re.compile(r"<(/?)h[1-3]\b", re.I)  # a panel's heading, under the view's own title (h2) and run (h3)


def _hex(match: re.Match) -> str:
    """``hsla(140,70%,45%,0.86)`` / ``rgba(8,81,156,0.5)`` as the hex colour it shows on white."""
    kind, args = match.group(1), [a.strip() for a in match.group(2).split(",")]
    try:
        nums = [float(a.rstrip("%")) for a in args]
    except ValueError:
        return match.group(0)
    if kind.startswith("hsl"):
        rgb = colorsys.hls_to_rgb(nums[0] / 360, nums[2] / 100, nums[1] / 100)
    else:
        rgb = tuple(v / 255 for v in nums[:3])
    alpha = nums[3] if len(nums) > 3 else 1.0
    return "#" + "".join(f"{round(255 * (alpha * c + 1 - alpha)):02x}" for c in rgb)


def svg_img(match: re.Match) -> str:
    """An inline ``<svg>`` as an ``<img>`` with an SVG data URI."""
    svg = match.group(0)
    if "xmlns=" not in svg[:300]:
        svg = svg.replace("<svg", "<svg xmlns='http://www.w3.org/2000/svg'", 1)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"<img alt='chart' src='data:image/svg+xml;base64,{data}'>"


def readable_untrusted(text: str) -> str:
    """HTML as it survives JupyterLab's sanitiser: charts as images, colours as hex."""
    return COLOR.sub(_hex, SVG.sub(svg_img, text))


def _shown(w) -> bool:
    layout = getattr(w, "layout", None)
    return layout is None or (layout.display != "none" and layout.visibility != "hidden")


def _value_text(w) -> str:
    if isinstance(w, (W.Dropdown, W.RadioButtons, W.ToggleButtons, W.Select)):
        return "" if w.label is None else str(w.label)
    if isinstance(w, W.SelectMultiple):
        return ", ".join(map(str, w.label))
    if isinstance(w, W.Checkbox):
        return "yes" if w.value else "no"
    if isinstance(w, (W.IntProgress, W.FloatProgress)):
        return f"{w.value} / {w.max}"
    return "" if w.value is None else str(w.value)


def widget_html(w) -> str:
    """``w`` and what it holds as static HTML (see the module's docstring); buttons, toggles and live
    charts are left out: they do nothing without a kernel."""
    if not _shown(w):
        return ""
    if isinstance(w, W.Tab):
        i = w.selected_index
        return widget_html(w.children[i]) if i is not None and i < len(w.children) else ""
    if isinstance(w, W.Accordion):  # the open section only, under its title
        i = w.selected_index
        if i is None or i >= len(w.children):
            return ""
        title = w.titles[i] if i < len(w.titles) else ""
        return f"<p><b>{_E(title or '')}</b></p>" + widget_html(w.children[i])
    if isinstance(w, W.Box):
        inner = "".join(widget_html(c) for c in w.children)
        return f"<div>{inner}</div>" if inner else ""
    if isinstance(w, (W.HTML, W.HTMLMath)):
        # the live widgets' CSS (which sized their headings) is not kept: their headings step down instead
        return _HEADING.sub(r"<\1h4", _STYLE.sub("", w.value))
    if isinstance(w, W.Label):
        return f"<span>{_E(w.value)}</span>" if w.value else ""
    if isinstance(w, (W.Button, W.ToggleButton, W.FileUpload)) or not isinstance(w, W.ValueWidget):
        return ""  # actions, on/off toggles beside fields (search this one), an upload: nothing to read
    value = _value_text(w)
    if not value and not w.description:
        return ""
    name = f"<b>{_E(w.description)}</b> " if w.description else ""
    return f"<div>{name}{_E(value) or '<i>(empty)</i>'}</div>"


class StaticView:
    """Mixed into a widget class (``class Studio(StaticView, W.VBox)``): its output carries ``static_html()``
    as text/html beside the live view, so a notebook saved with it shows the widget's content where the
    live view cannot be drawn (an untrusted notebook, no kernel, no widget state)."""

    def static_html(self) -> str:
        return readable_untrusted(f"<div class='ft-lab-static-view'>{widget_html(self)}</div>")

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/html"] = self.static_html()
        return bundle
