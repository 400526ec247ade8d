# The grader as a container image: the CPU build of torch, the package, a non-root
# user, `python -m grader` as the entrypoint. `docker build -t backprop-kata .`; how to
# run it (no network, read-only, submissions mounted read-only): docs/instructors.md,
# "Containers".
#
# The base is pinned by digest: python:3.11-slim-bookworm as recorded in public
# documentation. To move it, `docker buildx imagetools inspect python:3.11-slim-bookworm`
# and replace the digest.
FROM python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/backprop-kata

# The CPU build of torch first, from PyTorch's own index (the line grade.yml runs).
RUN python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# The package (its MNIST sample inside grader/), with the versions of constraints.txt.
COPY pyproject.toml README.md requirements.txt constraints.txt ./
COPY grader/ grader/
RUN python -m pip install -c constraints.txt . \
    && useradd --create-home --uid 10001 --user-group grader
USER 10001:10001
WORKDIR /home/grader

ENTRYPOINT ["python", "-m", "grader"]
CMD ["--help"]
