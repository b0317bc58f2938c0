"""The extractive answerer's former address: it lives in `rag.answer.factoid`.

Kept for `eval.abstain_fit`, which builds an `ExtractiveAnswerer` from here; nothing in `rag`
imports this module.
"""

from rag.answer.factoid import ExtractiveAnswerer

__all__ = ["ExtractiveAnswerer"]
