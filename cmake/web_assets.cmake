# The admin listener's pages, built into the binary (issue 16): every web/*.html, *.js and
# *.css, and uPlot from the npm registry, pinned by version and sha512. The tarball is fetched
# once at configure time into the build directory (-DFERRY_UPLOT_TGZ=/path/to/uplot-1.6.32.tgz
# to build offline); a C++ file holding every asset as bytes is generated at build time, again
# whenever a web file changes. The result is the small library ferry_web (src/web/assets.h).

set(FERRY_UPLOT_VERSION 1.6.32)
set(FERRY_UPLOT_SHA512
    2883159c6ebccefbb95d751b0b82d010f9e1c0ec41b8bc96d401eda66e882935c89a46cb824332fa369b8cb8122cc6ac36e186cd09bf7a9ded3a4c93c6989023)
set(FERRY_UPLOT_URL "https://registry.npmjs.org/uplot/-/uplot-${FERRY_UPLOT_VERSION}.tgz")
set(FERRY_UPLOT_TGZ "" CACHE FILEPATH
    "uplot-${FERRY_UPLOT_VERSION}.tgz from the npm registry, to build without downloading it")

set(uplot_dir ${CMAKE_BINARY_DIR}/web_deps)
set(uplot_tgz ${uplot_dir}/uplot-${FERRY_UPLOT_VERSION}.tgz)
if(FERRY_UPLOT_TGZ)
  file(SHA512 ${FERRY_UPLOT_TGZ} given_hash)
  if(NOT given_hash STREQUAL FERRY_UPLOT_SHA512)
    message(FATAL_ERROR "FERRY_UPLOT_TGZ=${FERRY_UPLOT_TGZ} is not uPlot ${FERRY_UPLOT_VERSION} "
                        "as published at ${FERRY_UPLOT_URL} (its sha512 differs)")
  endif()
  set(uplot_tgz ${FERRY_UPLOT_TGZ})
else()
  set(have_tgz FALSE)
  if(EXISTS ${uplot_tgz})
    file(SHA512 ${uplot_tgz} cached_hash)
    if(cached_hash STREQUAL FERRY_UPLOT_SHA512)
      set(have_tgz TRUE)
    endif()
  endif()
  if(NOT have_tgz)
    message(STATUS "Downloading uPlot ${FERRY_UPLOT_VERSION} from ${FERRY_UPLOT_URL}")
    file(DOWNLOAD ${FERRY_UPLOT_URL} ${uplot_tgz}.part
         EXPECTED_HASH SHA512=${FERRY_UPLOT_SHA512} TLS_VERIFY ON TIMEOUT 120
         STATUS download_status)
    list(GET download_status 0 download_code)
    if(NOT download_code EQUAL 0)
      list(GET download_status 1 download_message)
      file(REMOVE ${uplot_tgz}.part)
      message(FATAL_ERROR "Cannot download uPlot ${FERRY_UPLOT_VERSION} (the status page's "
                          "charts) from ${FERRY_UPLOT_URL}: ${download_message}. Fetch that file "
                          "by other means and configure with -DFERRY_UPLOT_TGZ=/path/to/it.")
    endif()
    file(RENAME ${uplot_tgz}.part ${uplot_tgz})
  endif()
endif()

set(uplot_package ${uplot_dir}/uplot-${FERRY_UPLOT_VERSION})
if(NOT EXISTS ${uplot_package}/package/dist/uPlot.iife.min.js)
  file(ARCHIVE_EXTRACT INPUT ${uplot_tgz} DESTINATION ${uplot_package}
       PATTERNS package/dist/uPlot.iife.min.js package/dist/uPlot.min.css package/LICENSE)
endif()

# name=path pairs: what the admin listener serves at /assets/<name>.
file(GLOB web_files CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/web/*.html ${CMAKE_SOURCE_DIR}/web/*.js
     ${CMAKE_SOURCE_DIR}/web/*.css)
set(asset_pairs "")
set(asset_files "")
foreach(f ${web_files})
  get_filename_component(name ${f} NAME)
  list(APPEND asset_pairs "${name}=${f}")
  list(APPEND asset_files ${f})
endforeach()
foreach(pair "uPlot.iife.min.js=package/dist/uPlot.iife.min.js"
             "uPlot.min.css=package/dist/uPlot.min.css" "uPlot.LICENSE.txt=package/LICENSE")
  string(REPLACE "=" ";" parts ${pair})
  list(GET parts 0 name)
  list(GET parts 1 path)
  list(APPEND asset_pairs "${name}=${uplot_package}/${path}")
  list(APPEND asset_files ${uplot_package}/${path})
endforeach()
string(REPLACE ";" "|" asset_arg "${asset_pairs}")

set(assets_cpp ${CMAKE_BINARY_DIR}/generated/web_assets.cpp)
add_custom_command(
  OUTPUT ${assets_cpp}
  COMMAND ${CMAKE_COMMAND} -DOUTPUT=${assets_cpp} "-DASSETS=${asset_arg}"
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_assets.cmake
  DEPENDS ${asset_files} ${CMAKE_SOURCE_DIR}/cmake/embed_assets.cmake
  COMMENT "Embedding the status page's assets (web/, uPlot ${FERRY_UPLOT_VERSION})"
  VERBATIM)
add_library(ferry_web STATIC ${assets_cpp})
target_include_directories(ferry_web PUBLIC ${CMAKE_SOURCE_DIR}/src)
