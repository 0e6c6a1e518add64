#!/bin/sh
echo "hello from a lazily loaded RAFS image"
