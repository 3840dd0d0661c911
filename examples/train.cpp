// cyclegan-train: trains a CycleGAN on <dataroot>/trainA and trainB, with the reference
// implementation's options, checkpoints that resume exactly, a loss log and an HTML report.
//
//   cyclegan-train --dataroot ./datasets/horse2zebra --name horse2zebra
//   cyclegan-train --dataroot ./datasets/horse2zebra --name horse2zebra --continue-train
#include <CLI/CLI.hpp>

#include <cyclegan/cyclegan.hpp>

#include "train_loop.hpp"

#if CYCLEGAN_PROGRAMS_HAVE_MPI
#include <cyclegan/distributed/mpi.hpp>

#include <optional>
#endif

using namespace train_program;

namespace {

// The run on this rank; an error on any rank ends every rank of the job, naming this one.
template <class Comm>
int run(const TrainOptions& o, Comm& comm) {
    try {
        if (o.device == "cuda") {
            check_gpu_precision(o.precision);
#if CYCLEGAN_PROGRAMS_HAVE_CUDA
            return train_on_cuda(o, comm);
#else
            throw std::runtime_error("--device cuda: this build has no GPU backend (configure where the CUDA toolkit "
                                     "and cuDNN are installed); use --device cpu");
#endif
        }
        cpu dev = start_cpu(o.threads, o.cpu_kernels, o.precision, comm.rank() == 0);
        return train_with(dev, o, comm);
    } catch (const std::exception& e) {
        if (comm.size() == 1) {
            std::fprintf(stderr, "\nerror: %s\n", printable_error(e).c_str());
            return 1;
        }
        std::fprintf(stderr, "\nerror: rank %d of %d: %s\n", comm.rank(), comm.size(), printable_error(e).c_str());
        std::fflush(stderr);
        comm.abort(1);  // the other ranks would wait for this one in their next all-reduce
    }
}

}  // namespace

int main(int argc, char** argv) {
    TrainOptions o;
    CLI::App app{"Train a CycleGAN on two folders of unpaired images: <dataroot>/trainA and <dataroot>/trainB."};
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later --x overrides an earlier one
    app.add_option("--dataroot", o.dataroot, "folder holding trainA/ and trainB/")->required();
    app.add_option("--name", o.name, "name of the experiment: checkpoints go to <checkpoints-dir>/<name>")->capture_default_str();
    app.add_option("--checkpoints-dir", o.checkpoints_dir, "where experiments are saved")->capture_default_str();
    add_model_options(app, o.model);
    app.add_option("--gan-mode", o.gan_mode, "adversarial loss (wgangp: the Wasserstein objective without gradient penalty, as the reference's CycleGAN trains it)")->check(CLI::IsMember(cyclegan::choice_names(cyclegan::gan_mode_choices)))->capture_default_str();
    app.add_option("--lambda-A", o.lambda_A, "weight of the cycle loss A -> B -> A")->check(in_range(CycleGANOptions::loss_weight_range))->capture_default_str();
    app.add_option("--lambda-B", o.lambda_B, "weight of the cycle loss B -> A -> B")->check(in_range(CycleGANOptions::loss_weight_range))->capture_default_str();
    app.add_option("--lambda-identity", o.lambda_identity, "identity loss weight, relative to lambda (0 turns it off)")->check(in_range(CycleGANOptions::loss_weight_range))->capture_default_str();
    app.add_option("--pool-size", o.pool_size, "images kept in each history of generated images (0: none)")->check(in_range(CycleGANOptions::pool_size_range))->capture_default_str();
    app.add_option("--lr", o.lr, "initial learning rate of Adam")->check(in_range(learning_rate_range))->capture_default_str();
    app.add_option("--beta1", o.beta1, "Adam's beta1")->check(in_range(AdamOptions::beta_range))->capture_default_str();
    app.add_option("--lr-policy", o.lr_policy, "learning-rate policy")->check(CLI::IsMember(cyclegan::choice_names(cyclegan::lr_policy_choices)))->capture_default_str();
    app.add_option("--n-epochs", o.n_epochs, "epochs at the initial learning rate")->check(in_range(LrScheduleOptions::epochs_range))->capture_default_str();
    app.add_option("--n-epochs-decay", o.n_epochs_decay, "epochs of linear decay to zero")->check(in_range(LrScheduleOptions::epochs_range))->capture_default_str();
    app.add_option("--lr-decay-iters", o.lr_decay_iters, "step policy: epochs between decays")->check(in_range(LrScheduleOptions::decay_iters_range))->capture_default_str();
    app.add_option("--load-size", o.preprocess.load_size, "resize images to this size")->check(in_range(PreprocessOptions::size_range))->capture_default_str();
    app.add_option("--crop-size", o.preprocess.crop_size, "then crop to this size")->check(in_range(PreprocessOptions::size_range))->capture_default_str();
    app.add_option("--preprocess", o.preprocess.mode, "resize_and_crop | crop | scale_width | scale_width_and_crop | none")
        ->check(CLI::IsMember(preprocess_modes()))->capture_default_str();
    app.add_flag("--no-flip", o.no_flip, "no random horizontal flips");
    app.add_flag("--serial-batches", o.serial_batches, "pair A[i] with B[i] instead of a random B");
    app.add_option("--max-dataset-size", o.max_dataset_size, "use at most this many images per domain")->check(in_range(DatasetOptions::max_dataset_size_range));
    app.add_option("--batch-size", o.batch_size, "images per step")->check(in_range(batch_size_range))->capture_default_str();
    app.add_flag("--continue-train", o.continue_train, "resume from <checkpoints-dir>/<name>/<epoch>.safetensors");
    app.add_option("--epoch", o.epoch, "which checkpoint to resume from: latest or an epoch number")->capture_default_str();
    app.add_option("--save-epoch-freq", o.save_epoch_freq, "keep a numbered checkpoint every this many epochs (0: only latest)")
        ->check(in_range(cyclegan::OptionRange{.min = 0, .integer = true}))->capture_default_str();
    app.add_option("--seed", o.seed, "seed of every random choice (weights, data order, crops, pools)")->check(in_range(seed_range))->capture_default_str();
    add_cpu_options(app, o.threads, o.cpu_kernels, o.precision);
    app.add_option("--device", o.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
    app.add_flag("--quiet", o.quiet, "no progress bar");
    CLI11_PARSE(app, argc, argv);

#if CYCLEGAN_PROGRAMS_HAVE_MPI
    // Started by mpirun or srun: one rank of several; alone otherwise (no MPI needed).
    if (MpiCommunicator::launched()) {
        std::optional<MpiCommunicator> comm;
        try {
            comm.emplace(&argc, &argv);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "error: %s\n", printable_error(e).c_str());
            return 1;
        }
        return run(o, *comm);
    }
#endif
    SingleProcess alone;
    return run(o, alone);
}
