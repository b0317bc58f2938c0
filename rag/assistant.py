"""`Assistant`: the one object the page, the CLI and the evaluation use.

In: `Settings` (or a `Retriever` over an opened store). Out: answers (`ask`, `stream`, from
`rag.chain.Chain`), passages (`search`), per-file outcomes of `ingest` and `add_files`, `remove`,
the indexed `documents`, one `article` as loaded and cleaned, the `status`, and the background
ingest and vector build the page runs.
Never hands a front end the store's records or snapshot, and never reads a file that is not
indexed (`article`) or an upload the size limit refuses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from rag.background import Background, Progress
from rag.chain import Chain, Delta, Draft, History, Reset
from rag.collection import Catalog
from rag.config import Settings
from rag.documents import load_document
from rag.errors import DocumentError, QueryError, StoreError, UploadError, describe
from rag.reader import reader_state
from rag.retrieval import Rankings, Retriever
from rag.smalltalk import EMPTY_EXAMPLES, example_questions
from rag.sources import doc_id_for
from rag.types import (
    Answer,
    Article,
    DocumentInfo,
    FileOutcome,
    Filters,
    Hit,
    Ingested,
    IngestReport,
    Status,
)
from rag.uploads import BAD_NAME, MAX_UPLOAD_BYTES, check_upload, copy_atomic, received_file

log = logging.getLogger(__name__)

LOADING = "Kho tài liệu đang được nạp; hãy hỏi lại sau giây lát."
NOT_LOADED = "không nạp được"


class Assistant(Chain):
    """The answering chain plus the library it answers from."""

    def __init__(self, settings: Settings, retriever: Retriever, llm=None):
        super().__init__(settings, retriever, llm)
        self.background = Background(self.build_vectors)
        self._examples: tuple | None = None  # (snapshot, n, questions) last worked out

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, repair: bool = True) -> Assistant:
        """The configured embedder (or its offline fallback) and its store. With `repair`, a
        store that lost or damaged one half (Chroma or the BM25 snapshot) is repaired first;
        a rebuild or a removal does without, as they must not depend on the old index."""
        settings = settings or Settings.from_env()
        if repair:
            return cls(settings, Retriever.from_settings(settings))
        from embeddings import load_embedder
        from rag.store import Store

        return cls(
            settings, Retriever(Store(settings, load_embedder(settings.embedding_model)), settings)
        )

    # -- answers and passages -----------------------------------------------------------------
    def stream(
        self, question: str, history: History = (), **options
    ) -> Iterator[Delta | Draft | Reset | Answer]:
        """As `Chain.stream`; QueryError while the first ingest has committed nothing yet."""
        if self.background.running and not self.store.snapshot.chunks:
            raise QueryError(LOADING)
        return super().stream(question, history, **options)

    def search(
        self,
        question: str,
        *,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
    ) -> list[Hit]:
        """The passages retrieved for `question`, best first."""
        return self.retriever.search(question, k=k, mode=mode, filters=filters)

    def rankings(self, question: str, n: int) -> Rankings:
        """The lexical and dense rankings that hybrid mode fuses (for tuning its weights)."""
        return self.retriever.rankings(question, n)

    # -- the library --------------------------------------------------------------------------
    def ingest(
        self,
        path: Path | str | None = None,
        *,
        files: Iterable[Path] | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
        vectors: bool = True,
    ) -> Ingested:
        """Make the index match the folder `path` (default RAG_CORPUS_DIR), or index the one
        file `path`, or just `files` under the folder `path`; each file's outcome comes back.
        `rebuild` drops the index first; without `vectors` the embedding is left to
        `build_vectors` (the page runs it in the background)."""
        root = Path(path) if path is not None else Path(self.settings.corpus_dir)
        before = {} if rebuild else self._versions()
        if rebuild:
            report = self.store.rebuild(root, progress=progress)
        else:
            report = self.store.sync(
                root,
                paths=list(files) if files is not None else None,
                delete_missing=files is None,
                progress=progress,
                vectors=vectors,
            )
        root = root.resolve()
        if root.is_file():
            root, files = root.parent, [root]
        return Ingested(report, self._outcomes(root, files, before, report))

    def add_files(
        self,
        uploads: Sequence[tuple[str, Path]],
        *,
        max_bytes: int = MAX_UPLOAD_BYTES,
        progress: Progress | None = None,
        received_in: Path | str | None = None,
    ) -> tuple[FileOutcome, ...]:
        """Copy the accepted (name, temporary path) uploads into the corpus folder and index
        just those; their vectors follow in the background. One outcome per upload, in order.
        With `received_in` (the web server's upload folder), a path outside it or a link is
        refused unread."""
        corpus = Path(self.settings.corpus_dir).resolve()
        corpus.mkdir(parents=True, exist_ok=True)
        outcomes: list[FileOutcome] = []
        accepted: list[tuple[int, Path]] = []
        for name, source in uploads:
            try:
                if received_in is not None:
                    source = received_file(source, received_in)
                safe = check_upload(name, Path(source).stat().st_size, max_bytes)
                load_document(Path(source), Path(source).parent)  # unreadable ones stay out
            except (UploadError, DocumentError, OSError) as exc:
                outcomes.append(FileOutcome(name, "refused", reason=describe(exc)))
                continue
            target = corpus / safe
            if target.resolve().parent != corpus:
                outcomes.append(FileOutcome(name, "refused", reason=BAD_NAME))
                continue
            copy_atomic(Path(source), target)
            accepted.append((len(outcomes), target))
            outcomes.append(FileOutcome(name, "refused", safe, reason=NOT_LOADED))
        if not accepted:
            return tuple(outcomes)
        try:
            ingested = self.ingest(
                corpus, files=[t for _, t in accepted], progress=progress, vectors=False
            )
        except StoreError as exc:
            for i, _ in accepted:
                outcomes[i] = replace(outcomes[i], reason=str(exc))
            return tuple(outcomes)
        by_id = {f.doc_id: f for f in ingested.files}
        for i, _ in accepted:
            found = by_id.get(outcomes[i].doc_id)
            if found is not None:
                outcomes[i] = replace(found, name=outcomes[i].name)
        self.background.start()
        return tuple(outcomes)

    def remove(self, doc_ids: Iterable[str]) -> IngestReport:
        """Take documents out of the index; their files stay where they are."""
        return self.store.remove(list(doc_ids))

    def documents(self) -> list[DocumentInfo]:
        """The indexed documents, by doc_id."""
        return [
            DocumentInfo(d["doc_id"], d["title"], d["outlet"], d["date"], d["chunks"])
            for d in self.store.documents()
        ]

    @property
    def embeddings(self):
        """The LangChain `Embeddings` that actually embeds (after any fallback)."""
        return self.store.embedder.embedder

    def example_questions(self, n: int = 3) -> list[str]:
        """Questions this assistant answers over the user's own collection (its titles and
        metadata), or about what it does while the collection is empty. Worked out once per
        committed snapshot: the page asks again on every status tick while it is built."""
        snapshot = self.store.snapshot
        cached = self._examples
        if cached is not None and cached[0] is snapshot and cached[1] == n:
            return list(cached[2])
        catalog = Catalog.from_snapshot(snapshot)
        found = example_questions(catalog, n) if catalog.docs else list(EMPTY_EXAMPLES[:n])
        self._examples = (snapshot, n, tuple(found))
        return found

    def article(self, doc_id: str) -> Article | None:
        """The indexed document `doc_id` as loaded and cleaned now (title and body spans into
        its text), or None when no such document is indexed. DocumentError when its file can no
        longer be read."""
        record = self.store.snapshot.docs.get(str(doc_id))
        if not record or not record.get("source"):
            return None
        try:
            return load_document(Path(record["source"]), Path(record.get("root") or "."))
        except OSError as exc:
            raise DocumentError(describe(exc)) from None

    # -- state --------------------------------------------------------------------------------
    def status(self) -> Status:
        """What runs and how far the index is."""
        loaded = self.store.embedder
        snapshot = self.store.snapshot
        return Status(
            documents=len(snapshot.docs),
            chunks=len(snapshot.chunks),
            embedding_model=loaded.name,
            embedding_fallback=loaded.fallback,
            vectors_pending=self.store.vectors_pending(),
            llm=self.settings.llm_display if self.llm is not None else None,
            retrieval_mode=self.settings.retrieval_mode,
            data_dir=str(self.settings.data_dir),
            corpus=snapshot.root,
            reader=reader_state(self.settings.reader, load=False),
            requested_model=self.settings.embedding_model,
            embedding_reason=loaded.reason,
            indexing=self.background.current(),
            error=self.background.error,
        )

    def build_vectors(self, progress: Progress | None = None) -> int:
        """Embed what the committed snapshot holds and Chroma lacks; questions keep being
        answered meanwhile, with dense scores for what has vectors. Returns texts embedded."""
        return self.store.build_vectors(progress)

    def start_background(self, *, ingest_corpus: bool = False) -> None:
        """With `ingest_corpus` and an empty index, ingest RAG_CORPUS_DIR in the background,
        then build vectors; otherwise build whatever vectors are missing."""
        if ingest_corpus and not self.store.snapshot.chunks:
            self.background.start(self._ingest_corpus)
        elif self.store.vectors_pending():
            self.background.start()

    def _ingest_corpus(self, progress: Progress) -> None:
        for f in self.ingest(progress=progress, vectors=False).refused:
            log.warning("Bỏ qua %s: %s", f.name, f.reason)

    # -- per-file outcomes --------------------------------------------------------------------
    def _versions(self) -> dict[str, tuple]:
        return {d: (r.get("hash"), r.get("pipeline")) for d, r in self.store.snapshot.docs.items()}

    def _outcomes(
        self,
        root: Path,
        files: Iterable[Path] | None,
        before: dict[str, tuple],
        report: IngestReport,
    ) -> tuple[FileOutcome, ...]:
        """Each file's outcome: refused with the store's reason, else added, updated or
        unchanged by its indexed version before and after."""
        docs = self.store.snapshot.docs
        refused = dict(report.errors)
        if files is not None:
            wanted = [doc_id_for(Path(p), root) for p in files]
        else:
            wanted = [d for d, r in docs.items() if r.get("root") == str(root)]
        out: dict[str, FileOutcome] = {}
        for doc_id in sorted({*wanted, *refused}):
            record = docs.get(doc_id)
            if doc_id in refused or record is None:
                out[doc_id] = FileOutcome(
                    doc_id, "refused", doc_id, reason=refused.get(doc_id, NOT_LOADED)
                )
                continue
            old = before.get(doc_id)
            status = (
                "added"
                if old is None
                else "unchanged"
                if old == (record.get("hash"), record.get("pipeline"))
                else "updated"
            )
            out[doc_id] = FileOutcome(doc_id, status, doc_id, len(record["chunks"]))
        return tuple(out.values())


__all__ = ["Assistant", "Delta", "Draft", "Reset"]
