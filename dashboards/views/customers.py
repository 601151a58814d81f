"""The customers page: one mart, see dashboards/martviews.py (VIEWS["customers"])."""

from dashboards.martpage import page

page("customers")
