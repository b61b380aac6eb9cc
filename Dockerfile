# One image for every Python process of the stack (core, gateway, relay, CLI); each compose
# service picks its process with `command`. Build: docker build -t headless-erp .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ERP_HOME=/var/lib/erp \
    ERP_SHOP_DIR=/app/heads/storefront

# A head whose own requirements this flavour of the image adds, e.g. "portal" (its
# heads/<head>/requirements.txt); empty for the core image.
ARG HEAD=""

WORKDIR /app

# The dependencies first, in their own layer, so a code change does not reinstall them: the
# runtime ones (no dev extra) at the versions and hashes uv.lock names, exported by the uv the
# lock names. A head's requirements must then be met already (--no-index): they are locked too.
COPY pyproject.toml uv.lock ./
COPY heads/portal/requirements.txt /tmp/heads/portal/requirements.txt
COPY heads/warehouse/requirements.txt /tmp/heads/warehouse/requirements.txt
COPY heads/storefront/requirements.txt /tmp/heads/storefront/requirements.txt
RUN uv=$(python -c "import tomllib; print(next(p['version'] for p in tomllib.load(open('uv.lock', 'rb'))['package'] if p['name'] == 'uv'))") \
 && pip install "uv==$uv" \
 && uv export --frozen --no-dev --no-emit-project --no-header --output-file /tmp/requirements.txt \
 && pip install --no-deps --require-hashes -r /tmp/requirements.txt \
 && if [ -n "$HEAD" ]; then pip install --no-index -r "/tmp/heads/$HEAD/requirements.txt"; fi \
 && pip uninstall -y uv \
 && rm -r /tmp/requirements.txt /tmp/heads

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
