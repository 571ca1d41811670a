"""Built-in cleaners, one module per idea; registered by ``ft_lab.default_plugins.default_cleaners``.

Each cleaner is a ``Cleaner`` with a ``Config`` dataclass and a ``clean(rows, columns)`` verb, so it runs
alone or in a recipe's ``clean`` list::

    from ft_lab.cleaners.pii import PiiMask
    result = PiiMask().clean([{"text": "mail me at a@b.co", "label": "x", "meta": {}}], ["text"])
    result.rows[0]["text"]      # 'mail me at <EMAIL>'
"""
