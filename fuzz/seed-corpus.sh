#!/bin/sh
# Seed every fuzz target's corpus with the plans of fixtures/ (run from fuzz/).
for t in parse check compile; do
  mkdir -p corpus/$t
  find ../fixtures -name '*.netc' -size -64k | while read -r f; do
    cp "$f" "corpus/$t/$(echo "${f#../}" | tr / _)"
  done
done
