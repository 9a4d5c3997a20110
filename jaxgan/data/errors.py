"""The error raised for bad or missing data, with what to do about it."""


class DataError(ValueError):
  """A data set that is missing, empty or unreadable. The message says how to fix it."""
