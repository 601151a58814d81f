"""The channels page: one mart, see dashboards/martviews.py (VIEWS["channels"])."""

from dashboards.martpage import page

page("channels")
