# What `cmake --install` adds besides the tools and libraries: the CMake
# package (spartaConfig.cmake, spartaTargets.cmake), the pattern files, the
# Python package and the licence.
include(CMakePackageConfigHelpers)

set(SPARTA_INSTALL_CMAKE_DIR lib/cmake/sparta)
set(SPARTA_INSTALL_PATTERNS_DIR share/sparta/patterns)

install(EXPORT spartaTargets NAMESPACE sparta:: DESTINATION ${SPARTA_INSTALL_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/spartaConfig.cmake.in
  ${PROJECT_BINARY_DIR}/spartaConfig.cmake
  INSTALL_DESTINATION ${SPARTA_INSTALL_CMAKE_DIR}
  PATH_VARS SPARTA_INSTALL_PATTERNS_DIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/spartaConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/spartaConfig.cmake ${PROJECT_BINARY_DIR}/spartaConfigVersion.cmake
        DESTINATION ${SPARTA_INSTALL_CMAKE_DIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/patterns/ DESTINATION ${SPARTA_INSTALL_PATTERNS_DIR}
        FILES_MATCHING PATTERN "*.mlir")
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION share/doc/sparta)
