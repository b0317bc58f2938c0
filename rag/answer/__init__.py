"""The answerers of the retrieved passages, and the one parse and evidence step they share.

A question is parsed once (`question.Question.parse`: kind, expected type, shape, unit, office,
date grain, wh-slot, entities, numbers, dates); its passages become evidence once
(`evidence.gather`: sentences, coverage, typed spans, sentence score). Then, in `rag.chain`
(`Chain._extractive`), after `rag.router` has taken small talk, questions about the collection,
summaries, comparisons and other languages:

| the question asks | answered by |
| --- | --- |
| why (vì sao, tại sao, lý do …) | `shaped.answer_shaped`: the clause after vì / do / để … (`_reason`), or the sentence before a "vì vậy" (`_because_before`) |
| how (như thế nào, bằng cách nào …) | `shaped.answer_shaped`: the clause after bằng / thông qua / nhờ … (`_means`) |
| a list (những … nào, gồm những gì, kể tên …) | `shaped.answer_shaped`: one bullet per enumerated item (`_items`, `_bullets`) |
| yes / no (có … không, phải không …) | `shaped.answer_shaped`: "Có." / "Không." with its evidence (`_yes_no`) |
| who (ai, người nào; 'Ai là <office>?') | `factoid.ExtractiveAnswerer.answer`: a name of the typed spans (`rag.spans.person_spans`), beside the office when one is asked; the reader's span when it agrees (`_read`) |
| how many (bao nhiêu, mấy) | `factoid.ExtractiveAnswerer.answer`: a number of the unit counted (`rag.spans.unit_fit`), by the span model (`rag.direct.best_span`) |
| when (khi nào, năm nào, ngày nào …) | `factoid.ExtractiveAnswerer.answer`: a date of the grain asked (`rag.spans.date_spans`), by the span model |
| where (ở đâu, nơi nào …) | `factoid.ExtractiveAnswerer.answer`: a place of the typed spans; the reader's span when it agrees |
| what, which, anything else | `factoid.ExtractiveAnswerer.answer`: the reader's span, else the span model's, of the expected type (`rag.answertype`); else the sentences |

A shaped answerer that finds no clause, item or evidence returns None and the factoid answerer
answers or abstains. Every answer is cut from the articles; none rewrites their text.
"""
