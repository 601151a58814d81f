"""The performance page: one mart, see dashboards/martviews.py (VIEWS["performance"])."""

from dashboards.martpage import page

page("performance")
