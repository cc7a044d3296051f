"""gunicorn's logging for the web service (docs/deployment.md, section 6):
``gunicorn -c config/gunicorn.conf.py config.wsgi ...``.

The access log carries each request's path without its query string, and no Referer: both can hold
what a person typed (a search term, which may be a card code), and access logs are kept, shipped and
read far more widely than the audit trail. The orders search is a POST, so its term is in no URL;
this is the second lock, for a hand-typed or an old bookmarked ``?q=``. ``tests/project/test_access_log.py``
runs gunicorn with this file and searches by code.
"""

accesslog = "-"
# %(U)s is the path alone (%(r)s, the default's request line, includes the query string); %(f)s, the
# Referer, is left out (a page's full address, query included, is the Referer of its static files).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'
