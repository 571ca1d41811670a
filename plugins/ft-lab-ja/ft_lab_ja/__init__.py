"""ft-lab-ja: a Japanese language pack for ft-lab (entry point ``ja``).

Evaluators on Japanese morphemes (``ja_bleu``, ``ja_rouge``, ``ja_word_f1``; UniDic or Sudachi, by name)
and Japanese cleaners (``ja_normalize``, ``ja_boilerplate``, ``ja_mojibake``). The analyzers load when a
score is computed, never at import.
"""
__version__ = "0.1.0"
