"""The incident history: queries, statistics, the search index, retention."""
