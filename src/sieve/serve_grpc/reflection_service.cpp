#include "sieve/serve_grpc/reflection_service.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <set>

#include "sieve/serve_grpc/grpc_status.h"

namespace sieve::serve {
namespace {

namespace protobuf = google::protobuf;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

void set_error(ServerReflectionResponse& response, grpc::StatusCode code, const std::string& message) {
  response.mutable_error_response()->set_error_code(code);
  response.mutable_error_response()->set_error_message(message);
}

// `file` and, after it, every file it imports (each once), serialized: a client needs them all
// to build the file's descriptors.
void add_file_and_imports(const protobuf::FileDescriptor& file, std::set<std::string>& added,
                          grpc::reflection::v1alpha::FileDescriptorResponse& out) {
  if (!added.insert(file.name()).second) return;
  protobuf::FileDescriptorProto proto;
  file.CopyTo(&proto);
  out.add_file_descriptor_proto(proto.SerializeAsString());
  for (int i = 0; i < file.dependency_count(); ++i) add_file_and_imports(*file.dependency(i), added, out);
}

void answer_with_file(ServerReflectionResponse& response, const protobuf::FileDescriptor* file,
                      const std::string& what) {
  if (file == nullptr) {
    set_error(response, grpc::StatusCode::NOT_FOUND, what + " is not known to this server");
    return;
  }
  std::set<std::string> added;
  add_file_and_imports(*file, added, *response.mutable_file_descriptor_response());
}

}  // namespace

grpc::Status ReflectionService::ServerReflectionInfo(
    grpc::ServerContext*, grpc::ServerReaderWriter<ServerReflectionResponse, ServerReflectionRequest>* stream) {
  return answer_guarded([&] {
    ServerReflectionRequest request;
    while (stream->Read(&request)) {
      if (!stream->Write(answer(request))) break;
    }
    return grpc::Status::OK;
  });
}

ServerReflectionResponse ReflectionService::answer(const ServerReflectionRequest& request) const {
  const protobuf::DescriptorPool& pool = *protobuf::DescriptorPool::generated_pool();
  ServerReflectionResponse response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kFileByFilename:
      answer_with_file(response, pool.FindFileByName(request.file_by_filename()),
                       "file '" + request.file_by_filename() + "'");
      break;
    case ServerReflectionRequest::kFileContainingSymbol:
      answer_with_file(response, pool.FindFileContainingSymbol(request.file_containing_symbol()),
                       "symbol '" + request.file_containing_symbol() + "'");
      break;
    case ServerReflectionRequest::kFileContainingExtension: {
      const auto& wanted = request.file_containing_extension();
      const protobuf::Descriptor* type = pool.FindMessageTypeByName(wanted.containing_type());
      const protobuf::FieldDescriptor* extension =
          type == nullptr ? nullptr : pool.FindExtensionByNumber(type, wanted.extension_number());
      answer_with_file(
          response, extension == nullptr ? nullptr : extension->file(),
          "extension " + std::to_string(wanted.extension_number()) + " of '" + wanted.containing_type() + "'");
      break;
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const protobuf::Descriptor* type = pool.FindMessageTypeByName(request.all_extension_numbers_of_type());
      if (type == nullptr) {
        set_error(response, grpc::StatusCode::NOT_FOUND,
                  "type '" + request.all_extension_numbers_of_type() + "' is not known to this server");
        break;
      }
      std::vector<const protobuf::FieldDescriptor*> extensions;
      pool.FindAllExtensions(type, &extensions);
      auto* numbers = response.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(type->full_name());
      for (const protobuf::FieldDescriptor* extension : extensions) numbers->add_extension_number(extension->number());
      break;
    }
    case ServerReflectionRequest::kListServices:
      for (const std::string& name : services_)
        response.mutable_list_services_response()->add_service()->set_name(name);
      break;
    case ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
      set_error(response, grpc::StatusCode::INVALID_ARGUMENT, "the request asks for nothing");
      break;
  }
  return response;
}

}  // namespace sieve::serve
