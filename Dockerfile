# The portal's image: web (gunicorn), Celery worker and Celery beat all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin portal \
 && mkdir -p /var/lib/portal /tmp/prometheus && chown portal /var/lib/portal /tmp/prometheus

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are collected at build time; no setting here reaches the running containers.
RUN DJANGO_DEBUG=true STATICFILES_MANIFEST=true python manage.py collectstatic --no-input -v 0

USER portal
EXPOSE 8000
# Port, workers and JSON logs with redacted paths: gunicorn.conf.py.
CMD ["gunicorn", "portal.wsgi"]
