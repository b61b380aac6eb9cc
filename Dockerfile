# One image for every Python process of the stack (core, gateway, relay, CLI); each compose
# service picks its process with `command`. Build: docker build -t headless-erp .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ERP_HOME=/var/lib/erp \
    ERP_SHOP_DIR=/app/heads/storefront

# Extra requirements for one flavour of the image, e.g. "streamlit>=1.40" for the portal.
ARG EXTRA_REQUIREMENTS=""

WORKDIR /app

# The dependencies first, in their own layer, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt ${EXTRA_REQUIREMENTS} \
 && rm /tmp/requirements.txt

# Then the project itself. The source tree stays in /app: the heads and any
# configuration at the top of the tree are run from there (the gateway serves the storefront
# from /app/heads/storefront, ERP_SHOP_DIR above, wherever Python imports the gateway from).
COPY . .
RUN pip install --no-deps . \
 && rm -rf build ./*.egg-info \
 && useradd --system --uid 10001 --user-group --home-dir "$ERP_HOME" --create-home erp

USER erp

# gateway, core, portal
EXPOSE 8000 8100 8501

# Overridable: docker-compose.yml gives each service its own command.
CMD ["erp", "up"]
