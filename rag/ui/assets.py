"""The page's own style sheet and script, as strings `app.py` hands to Gradio.

In: nothing. Out: `CSS` (status line, citations, source cards, the sources column beside the chat
on a laptop), `SOURCES_JS` (citation links open their card; "Xem toàn bài" fetches the cleaned
article once and folds it away again) and `GRADIO_TEXT_JS` (Gradio's own English messages that
have no translation key, said in Vietnamese). Never: a font, script or style from the internet.
"""

CSS = """
#status { font-size: 0.9em; color: var(--body-text-color-subdued); }
#status summary { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; cursor: pointer; }
#status ul { margin: 0.3em 0 0 1.2em; white-space: normal; }
@media (max-width: 480px) { #status details.status > summary { font-size: 13px; } }
#status .busy { color: var(--color-accent); font-weight: 600; }
#status .error, #notice .error { color: #b91c1c; }
#notice .filtered { color: #b45309; }
#chat a.cite { text-decoration: none; font-weight: 600; font-size: 0.85em; vertical-align: super; }
#chat .unsupported { text-decoration: underline dotted #b45309 2px; text-underline-offset: 3px; }
#chat .unsupported-note { color: #b45309; font-size: 0.9em; }
#sources-title { margin: 0; }
#sources details.turn > summary { font-weight: 600; margin: 0.4em 0; cursor: pointer; }
#sources details.source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 0.4em 0.7em; margin: 0.4em 0; transition: background-color 0.6s; }
#sources details.source.flash { background-color: var(--color-accent-soft); }
#sources details.source > summary { cursor: pointer; }
#sources .title { font-weight: 600; }
#sources .meta, .muted { color: var(--body-text-color-subdued); font-size: 0.9em; }
#sources blockquote.passage { white-space: pre-wrap; margin: 0.5em 0; font-size: 0.92em; }
#sources mark { background: #fde68a; color: inherit; padding: 0 2px; }
#sources .weak { color: #b45309; font-size: 0.9em; }
#sources .article-text { white-space: pre-wrap; max-height: 28em; overflow-y: auto;
  border-top: 1px dashed var(--border-color-primary); margin-top: 0.5em; padding-top: 0.5em;
  font-size: 0.92em; }
#sources button.full-article { font-size: 0.85em; text-decoration: underline; cursor: pointer; }
/* Beside the chat the sources scroll on their own (Gradio's block style says overflow: visible). */
@media (min-width: 768px) {
  #sources-column #sources { max-height: 520px; overflow-y: auto !important; }
}
.uploads li.failed { color: #b91c1c; }
#examples { margin-top: 0.3em; }
table.documents { font-size: 0.9em; }
"""

# Citation links open their card (and the answer's section) in the sources panel; each card's
# "Xem toàn bài" button fetches the cleaned article from the server on first use, and folds it
# away again on the next click.
SOURCES_JS = """
if (!window.__ragCiteLinks) {
  window.__ragCiteLinks = true;
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a.cite');
    if (!link) return;
    event.preventDefault();
    const card = document.getElementById((link.getAttribute('href') || '').slice(1));
    if (!card) return;
    for (let el = card; el; el = el.parentElement) {
      if (el.tagName === 'DETAILS') el.open = true;
    }
    card.scrollIntoView({block: 'nearest'});
    card.classList.add('flash');
    setTimeout(() => card.classList.remove('flash'), 1500);
  }, true);
}
element.addEventListener('click', async (event) => {
  const button = event.target.closest('button.full-article');
  if (!button) return;
  const box = button.nextElementSibling;
  if (box.dataset.loaded) {
    box.hidden = !box.hidden;
  } else {
    button.disabled = true;
    box.innerHTML = await server.full_article(
      {doc: button.dataset.doc, marks: button.dataset.marks});
    box.dataset.loaded = '1';
    box.hidden = false;
    button.disabled = false;
  }
  button.textContent = box.hidden ? 'Xem toàn bài' : 'Thu gọn bài';
  button.setAttribute('aria-expanded', String(!box.hidden));
});
"""

# Gradio's browser code writes a few messages in English with no translation key: the upload
# box's progress line, the toast for a file over the size limit (checked before it is sent),
# the one for a file type the box does not take, the toasts' titles, and "processing |" or the
# queue position over an output while it is computed, and a few controls' labels for screen
# readers. Each such text, in a toast, a progress overlay or the upload box only (a label
# anywhere), is replaced by its Vietnamese as soon as Gradio writes it.
GRADIO_TEXT_JS = r"""
(() => {
  const rules = [
    [/^Error$/, 'Lỗi'],
    [/^Warning$/, 'Cảnh báo'],
    [/^Info$/, 'Thông báo'],
    [/^processing \|$/, 'đang xử lý |'],
    [/^queue: (\d+)\/(\d*) \|$/, 'hàng đợi: $1/$2 |'],
    [/^Loading\.\.\.$/, 'Đang tải…'],
    [/^An error occurred\.$/, 'Đã có lỗi.'],
    [/^Uploading\s+(\d+)\s+files?\.\.\.$/, 'Đang tải $1 tệp lên…'],
    [/^File\(s\) exceed the maximum allowed size of ([^:]+): (.+)$/,
     (_, most, names) => `Tệp quá lớn (tối đa ${most.replace(/b$/, 'B')}): ${names}`],
    [/^Invalid file types?: (.+)\. Only (.+) allowed\.$/,
     'Không nhận loại tệp này: $1 (chỉ nhận $2).'],
  ];
  const where = '[data-testid="toast-body"], [data-testid="status-tracker"], #upload';
  // What a screen reader says for some of Gradio's controls.
  const labels = {
    'Reset to default value': 'Đặt lại giá trị mặc định',
    'chatbot conversation': 'Cuộc trò chuyện',
    'Click to upload or drop files': 'Bấm để chọn tệp hoặc thả tệp vào đây',
    'Close': 'Đóng',
    'Remove file': 'Gỡ tệp',
    'Uploaded files': 'Các tệp đã tải lên',
    'Uploading': 'Đang tải lên',
  };
  const relabel = (element) => {
    const vietnamese = labels[element.getAttribute('aria-label')];
    if (vietnamese) element.setAttribute('aria-label', vietnamese);
  };
  const fix = (node) => {
    const text = (node.nodeValue || '').trim();
    if (!text || !node.parentElement || !node.parentElement.closest(where)) return;
    for (const [pattern, vietnamese] of rules) {
      if (pattern.test(text)) {
        node.nodeValue = text.replace(pattern, vietnamese);
        return;
      }
    }
  };
  const scan = (root) => {
    if (root.nodeType === Node.TEXT_NODE) return fix(root);
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    if (root.hasAttribute('aria-label')) relabel(root);
    root.querySelectorAll('[aria-label]').forEach(relabel);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) fix(node);
  };
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === 'characterData') fix(record.target);
      else if (record.type === 'attributes') relabel(record.target);
      else record.addedNodes.forEach(scan);
    }
  }).observe(document.documentElement, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ['aria-label'],
  });
})();
"""
