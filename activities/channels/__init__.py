"""One module per way of reaching people; each sender implements ``base.Sender``."""
