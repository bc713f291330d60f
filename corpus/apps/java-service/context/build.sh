#!/bin/sh
# Build without Maven: compile the textstats library and the service with javac, package with jar.
# Output: ./app.jar (Main-Class + Class-Path: lib/textstats.jar) and ./lib/textstats.jar
set -eu
rm -rf build && mkdir -p build/lib-classes build/classes lib

javac --release 17 -d build/lib-classes $(find src/lib/java -name '*.java')
jar --create --file lib/textstats.jar -C build/lib-classes .

javac --release 17 -cp lib/textstats.jar -d build/classes $(find src/main/java -name '*.java')
printf 'Class-Path: lib/textstats.jar\n' > build/MANIFEST.add
jar --create --file app.jar --main-class com.example.greeter.App --manifest build/MANIFEST.add -C build/classes .
echo "built app.jar and lib/textstats.jar"
