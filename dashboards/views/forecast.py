"""The forecast page: one mart, see dashboards/martviews.py (VIEWS["forecast"])."""

from dashboards.martpage import page

page("forecast")
