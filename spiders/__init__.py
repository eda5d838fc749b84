"""Thin Scrapy spiders: they only know where the links are."""
