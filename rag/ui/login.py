"""The login form and Gradio's own strings, in Vietnamese.

In: the form's action path and an optional error. Out: a standalone HTML page (no script, no
asset); the translations the page registers with Gradio. Never: English text for a visitor.
"""

from __future__ import annotations

from rag.ui.answers import escape

# ---------------------------------------------------------------------------------------------
# Login page and Gradio's own strings

# Gradio's built-in texts of the components this page uses, by Gradio's translation key. The
# page registers them for the "en" locale, the one Gradio falls back to for every browser
# language it has no translation of (Vietnamese among them).
GRADIO_TRANSLATIONS = {
    "upload_text.drop_file": "Thả tệp vào đây",
    "upload_text.click_to_upload": "Bấm để chọn tệp",
    "common.or": "hoặc",
    "common.clear": "Xoá",
    "common.remove": "Gỡ",
    "common.download": "Tải về",
    "common.loading": "Đang tải",
    "common.error": "Lỗi",
    "common.empty": "Trống",
    "chatbot.like": "Hữu ích",
    "chatbot.dislike": "Không hữu ích",
    "chatbot.copy_message": "Chép câu trả lời",
    "chatbot.copied_message": "Đã chép",
    "chatbot.clear": "Xoá",
    "chatbot.retry": "Hỏi lại",
    "chatbot.undo": "Hoàn tác",
}

LOGIN_MESSAGE = "Đăng nhập để dùng trợ lý hỏi đáp tài liệu."
LOGIN_FAILED = "Sai tên đăng nhập hoặc mật khẩu."


def login_html(action: str, error: str | None = None) -> str:
    """The login page: a plain Vietnamese form that posts to `action`; no script, no asset."""
    notice = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Đăng nhập · Hỏi đáp tài liệu</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f4f5; color: #18181b; margin: 0; }}
main {{ max-width: 22rem; margin: 12vh auto; background: #fff; padding: 1.5rem 1.75rem;
  border-radius: 12px; box-shadow: 0 1px 4px rgba(0, 0, 0, .12); }}
h1 {{ font-size: 1.35rem; margin: 0 0 .4rem; }}
p {{ margin: 0 0 1rem; color: #52525b; }}
label {{ display: block; font-weight: 600; margin: .8rem 0 .3rem; }}
input {{ width: 100%; box-sizing: border-box; padding: .55rem .6rem; font-size: 1rem;
  border: 1px solid #d4d4d8; border-radius: 8px; }}
button {{ margin-top: 1.2rem; width: 100%; padding: .6rem; font-size: 1rem; font-weight: 600;
  color: #fff; background: #ea580c; border: 0; border-radius: 8px; cursor: pointer; }}
.error {{ color: #b91c1c; font-weight: 600; }}
</style></head>
<body><main>
<h1>Hỏi đáp tài liệu</h1>
<p>{escape(LOGIN_MESSAGE)}</p>
{notice}<form method="post" action="{escape(action)}">
<label for="username">Tên đăng nhập</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Mật khẩu</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Đăng nhập</button>
</form></main></body></html>
"""
