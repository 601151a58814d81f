"""The collections page: one mart, see dashboards/martviews.py (VIEWS["collections"])."""

from dashboards.martpage import page

page("collections")
