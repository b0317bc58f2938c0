"""What the chat page shows, as pure functions, in three modules by concern:
`rag.ui.answers` (the chat's answers and the sources panel), `rag.ui.page` (status line, upload
outcomes, document list, filters, feedback records) and `rag.ui.login` (the login form and
Gradio's own strings in Vietnamese). Upload checks live below the page, in `rag.uploads`.

In: public types of `rag.types`. Out: escaped HTML/markdown strings, `Filters`, records.
Never: touches the network, the index or the environment.
"""

from rag.errors import FilterError, UploadError
from rag.ui.answers import (
    NO_SOURCES,
    UNSUPPORTED_NOTE,
    Turn,
    answer_markdown,
    article_html,
    citation_html,
    display_date,
    escape,
    highlight,
    md_escape,
    parse_marks,
    question_markdown,
    source_anchor,
    source_meta,
    sources_html,
    streaming_markdown,
)
from rag.ui.login import GRADIO_TRANSLATIONS, LOGIN_FAILED, LOGIN_MESSAGE, login_html
from rag.ui.page import (
    RETRIEVAL_LABELS,
    STAGES,
    document_choices,
    documents_html,
    feedback_record,
    filters_text,
    nothing_found_html,
    outlet_choices,
    parse_auth,
    parse_filters,
    progress_fraction,
    progress_text,
    status_html,
    upload_message,
    upload_results_html,
)
from rag.uploads import MAX_UPLOAD_BYTES, UPLOAD_SUFFIXES, check_upload, safe_filename

__all__ = [
    "GRADIO_TRANSLATIONS",
    "LOGIN_FAILED",
    "LOGIN_MESSAGE",
    "MAX_UPLOAD_BYTES",
    "NO_SOURCES",
    "RETRIEVAL_LABELS",
    "STAGES",
    "UNSUPPORTED_NOTE",
    "UPLOAD_SUFFIXES",
    "FilterError",
    "Turn",
    "UploadError",
    "answer_markdown",
    "article_html",
    "check_upload",
    "citation_html",
    "display_date",
    "document_choices",
    "documents_html",
    "escape",
    "feedback_record",
    "filters_text",
    "highlight",
    "login_html",
    "md_escape",
    "nothing_found_html",
    "outlet_choices",
    "parse_auth",
    "parse_filters",
    "parse_marks",
    "progress_fraction",
    "progress_text",
    "question_markdown",
    "safe_filename",
    "source_anchor",
    "source_meta",
    "sources_html",
    "status_html",
    "streaming_markdown",
    "upload_message",
    "upload_results_html",
]
