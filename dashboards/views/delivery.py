"""The delivery page: one mart, see dashboards/martviews.py (VIEWS["delivery"])."""

from dashboards.martpage import page

page("delivery")
