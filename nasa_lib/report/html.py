"""REPORT.md -> REPORT.html: mistune (installed with nbconvert, the pipeline's extra) with its
table plugin, wrapped in a page with a small style sheet.  Image links stay relative, so the HTML
sits beside REPORT.md and shows the same ``figures/`` files."""
from __future__ import annotations

import html
from pathlib import Path

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1500px;
       margin: 2em auto; padding: 0 1.5em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #4c72b0; padding-bottom: .2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .15em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 12.5px; display: block; overflow-x: auto; }
th, td { border: 1px solid #d0d0d0; padding: 4px 7px; vertical-align: top; }
th { background: #eef2f8; }
tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; border: 1px solid #e3e3e3; margin: .5em 0; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; font-size: 90%; }
blockquote { border-left: 4px solid #dd8452; margin: 1em 0; padding: .3em 1em; background: #fff8f2; }
em { color: #444; }
"""


def markdown_to_html(markdown_text: str, title: str) -> str:
    try:
        import mistune
    except ImportError as err:  # the pipeline extra installs it (through nbconvert)
        raise ImportError("REPORT.html needs mistune (pip install -e '.[pipeline]')") from err
    render = mistune.create_markdown(escape=False, plugins=["table"])
    body = render(markdown_text)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def write_html(markdown_path, html_path, title: str) -> str:
    text = Path(markdown_path).read_text()
    Path(html_path).write_text(markdown_to_html(text, title))
    return str(html_path)
